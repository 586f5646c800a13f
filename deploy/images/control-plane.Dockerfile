# The control plane: the compiled workspaces that deploy/build-images.sh stages, on the app-deps
# image (BASE: the base image with the production node_modules). The same context as
# agent.Dockerfile's, so both images share this layer.
ARG BASE
FROM ${BASE}
WORKDIR /app
COPY . /app
ENV NODE_ENV=production FLOTILLA_DATA_DIR=/data
EXPOSE 8443 8883 3000 1883
CMD ["node", "control-plane/dist/main.js"]
