# Latch for production: see docker-compose.yml and README ("Running in production").
# Stage 1 builds with the development dependencies (esbuild, TypeScript sources); stage 2 holds
# only the compiled server, the pages and the production dependencies, and runs on plain node.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:client && npm run build

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
# The browser client's TypeScript sources are built into public/build; the image needs only that.
# The embedded database's folder (when DATABASE_URL is unset) must be writable by the node user.
RUN rm -rf public/src && mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Docker sends SIGTERM on stop: Latch stops accepting, finishes what is in flight, closes the pool.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:3000/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--enable-source-maps", "dist/main.js"]
