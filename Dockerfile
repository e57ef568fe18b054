# The inferscale image: the controller, the daemon and every other subcommand.
#   docker build -t <registry>/inferscale:<version> .
# It runs the TypeScript sources through tsx (as `bin/inferscale.js` does in a checkout), so the
# image holds exactly what `npm ci --omit=dev` installs plus the runtime folders.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY bin ./bin
COPY algorithms ./algorithms
COPY src ./src
COPY simulator ./simulator
COPY config ./config

# config/manager runs it as 65532 with a read-only root file system; without a writable temp dir
# bin/inferscale.js keeps tsx's compile cache in memory.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/inferscale.js"]
CMD ["controller"]
