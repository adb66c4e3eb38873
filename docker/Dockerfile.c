# C pmxcfs node for mixed clusters: a locally built pmxcfs binary (PMXCFS_C_BIN) and the
# libraries ldd lists for it, on the Debian base with corosync. Built by docker/images.sh
# from a context holding pmxcfs, lib/ and node-entrypoint.sh; never committed or pushed.
ARG BASE=localhost/pmxcfs-debian:latest
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      corosync iproute2 iptables procps psmisc sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/corosync/corosync.conf
COPY lib /opt/pmxcfs-c/lib
COPY pmxcfs /opt/pmxcfs-c/pmxcfs
# exec keeps the process name `pmxcfs`; the copied libraries serve this binary only.
RUN printf '#!/bin/sh\nLD_LIBRARY_PATH=/opt/pmxcfs-c/lib exec /opt/pmxcfs-c/pmxcfs "$@"\n' >/usr/bin/pmxcfs \
 && chmod 755 /usr/bin/pmxcfs \
 && mkdir -p /etc/pve /var/lib/pve-cluster /run/pve-cluster
COPY node-entrypoint.sh /usr/local/bin/node-entrypoint.sh
VOLUME ["/var/lib/pve-cluster"]
ENTRYPOINT ["/usr/local/bin/node-entrypoint.sh"]
CMD ["pmxcfs", "-f"]
