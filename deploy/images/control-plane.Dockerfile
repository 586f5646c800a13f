# The control plane: the compiled workspaces and production node_modules that
# deploy/build-images.sh stages (npm ci --omit=dev --offline), on the deploy base image.
# The first two steps are the same as agent.Dockerfile's, so both images share that layer.
ARG BASE
FROM ${BASE}
WORKDIR /app
COPY . /app
ENV NODE_ENV=production FLOTILLA_DATA_DIR=/data
EXPOSE 8443 8883 3000 1883
CMD ["node", "control-plane/dist/main.js"]
