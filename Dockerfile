# The syncrep API for docker-compose; the nodes are the compose file's PostgreSQL containers.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev
ENV HOST=0.0.0.0 PORT=4000 NODE_ENV=production
EXPOSE 4000 9464
CMD ["node", "dist/src/main.js"]
