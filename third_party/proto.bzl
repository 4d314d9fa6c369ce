"""Compiles .proto files with the system protoc and grpc_cpp_plugin.

protobuf and gRPC come from Debian's packages, so the generated code must come
from Debian's protoc of the same version; a genrule calls it.
"""

def cc_proto(name, srcs, deps = [], grpc = False, visibility = None):
    """A cc_library `name` holding the C++ code generated from `srcs`.

    srcs: .proto files of this package. deps: cc_proto targets of the
    .proto files they import (their sources are passed to protoc too).
    """
    hdrs = []
    ccs = []
    for src in srcs:
        base = src[:-len(".proto")]
        hdrs.append(base + ".pb.h")
        ccs.append(base + ".pb.cc")
        if grpc:
            hdrs.append(base + ".grpc.pb.h")
            ccs.append(base + ".grpc.pb.cc")
    plugin = ""
    if grpc:
        plugin = "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin --grpc_out=$(GENDIR) "
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = hdrs + ccs,
        cmd = "/usr/bin/protoc --proto_path=. --cpp_out=$(GENDIR) " + plugin +
              " ".join(["$(location %s)" % s for s in srcs]),
        message = "protoc " + name,
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
        visibility = visibility,
    )
    native.cc_library(
        name = name,
        hdrs = hdrs,
        srcs = ccs,
        deps = deps + ["@system_libs//:protobuf"] + (["@system_libs//:grpc++"] if grpc else []),
        visibility = visibility,
    )
