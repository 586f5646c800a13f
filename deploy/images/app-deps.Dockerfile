# The production node_modules and package manifests that deploy/build-images.sh stages (pruned
# offline), on the deploy base image. control-plane.Dockerfile and agent.Dockerfile are built FROM
# it: this layer is made again only when package-lock.json changes.
ARG BASE
FROM ${BASE}
WORKDIR /app
COPY . /app
