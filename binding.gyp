# Native addons. Each target is one .node file in build/Release/; to add a binding
# (e.g. FUSE), add a target below with its own sources and pkg-config packages.
{
  "variables": {
    "napi_cflags": ["-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
  },
  "target_defaults": {
    "cflags_cc": ["<@(napi_cflags)", "-std=c++17"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
  },
  "targets": [
    {
      # CPG, quorum and cmap (corosync client libraries).
      "target_name": "corosync",
      "sources": ["native/corosync.cc"],
      "cflags": ["<!@(pkg-config --cflags libcpg libquorum libcmap)"],
      "libraries": ["<!@(pkg-config --libs libcpg libquorum libcmap)"],
    },
    {
      # POSIX calls Node lacks (flock for the single-instance lock).
      "target_name": "posix",
      "sources": ["native/posix.cc"],
    },
    {
      # libfuse3 low-level session for /etc/pve, served on the Node event loop (uv_poll).
      "target_name": "fuse",
      "sources": ["native/fuse.cc"],
      "cflags": ["<!@(pkg-config --cflags fuse3)"],
      "libraries": ["<!@(pkg-config --libs fuse3)"],
    },
    {
      # librrd (RRD files of the status module; rrdcached client included).
      "target_name": "rrd",
      "sources": ["native/rrd.cc"],
      "cflags": ["<!@(pkg-config --cflags librrd)"],
      "libraries": ["<!@(pkg-config --libs librrd)"],
    },
    {
      # libqb IPC: the `pve2` server on the main loop and the qb_ipcc client.
      "target_name": "ipc",
      "sources": ["native/ipc.cc"],
      "cflags": ["<!@(pkg-config --cflags libqb)"],
      "libraries": ["<!@(pkg-config --libs libqb)"],
    },
  ],
}
