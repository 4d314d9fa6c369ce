# The release version of every binary and of the Debian package: the one
# place it is defined. //agent/core:version compiles it into the binaries'
# --version and //packaging:deb names and stamps the package with it.
HACLUSTER_VERSION = "0.1.0"
