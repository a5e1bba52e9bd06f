#ifndef VQLAB_KV_ERRNO_H
#define VQLAB_KV_ERRNO_H
/* The error numbers vringh.c returns (Linux's values). */
#define EFAULT 14
#define EINVAL 22
#define ENOMEM 12
#define ELOOP 40
#define EPROTO 71
#endif
