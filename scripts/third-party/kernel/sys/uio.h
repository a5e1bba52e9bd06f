#ifndef VQLAB_K_SYS_UIO_H
#define VQLAB_K_SYS_UIO_H
#include <stddef.h>
typedef long ssize_t;   /* POSIX has <sys/uio.h> define it; wasm32 is ILP32 */
struct iovec { void *iov_base; size_t iov_len; };
#endif
