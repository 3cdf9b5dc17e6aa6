/* h2sink.h -- span_bench's OTLP/gRPC sink (h2c, nghttp2): every call answered OK, the request discarded */
#ifndef OBSPROBE_H2SINK_H
#define OBSPROBE_H2SINK_H

/* Listen on 127.0.0.1 (a kernel-chosen port) and serve in a thread; returns the port, or -1. */
int h2sink__start(void);

#endif
