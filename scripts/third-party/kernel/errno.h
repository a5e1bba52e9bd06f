#ifndef VQLAB_K_ERRNO_H
#define VQLAB_K_ERRNO_H
/* The error numbers virtio_ring.c returns (Linux's values). */
#define EPERM 1
#define ENOENT 2
#define E2BIG 7
#define EIO 5
#define ENOMEM 12
#define EBUSY 16
#define EINVAL 22
#define ENOSPC 28
#define ENOTSUPP 524
#endif
