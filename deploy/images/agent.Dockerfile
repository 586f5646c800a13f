# The agent, from the same staged context as control-plane.Dockerfile (shared layer), on the app-deps image.
ARG BASE
FROM ${BASE}
WORKDIR /app
COPY . /app
# --max-semi-space-size=1 --lite-mode: AGENT_NODE_FLAGS in shared/src/agent-node-flags.ts (idle memory).
CMD ["node", "--max-semi-space-size=1", "--lite-mode", "agent/dist/main.js"]
