#ifndef VQLAB_K_ERRNO_H
#define VQLAB_K_ERRNO_H
/* The error numbers virtio_ring.c and vringh.c return (Linux's values). */
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define E2BIG 7
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EINVAL 22
#define ENOSPC 28
#define ELOOP 40
#define EPROTO 71
#define ENOTSUPP 524
#endif
