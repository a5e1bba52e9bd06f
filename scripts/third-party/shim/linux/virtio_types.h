#ifndef VQLAB_SHIM_LINUX_VIRTIO_TYPES_H
#define VQLAB_SHIM_LINUX_VIRTIO_TYPES_H
#include <linux/types.h>
/* wasm is little-endian, as virtio 1.x fields are. */
typedef uint16_t __virtio16;
typedef uint32_t __virtio32;
typedef uint64_t __virtio64;
#endif
