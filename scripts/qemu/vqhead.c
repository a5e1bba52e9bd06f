/*
 * Preload shim for qemu-system-* built with the "log" trace backend (Debian's is). QEMU's trace
 * events virtqueue_pop and virtqueue_fill name the VirtQueueElement by pointer only: not the
 * descriptor head (the Buffer ID the used entry will carry) nor the buffer's writable size. The log
 * backend prints each event with __vfprintf_chk(f, flag, fmt, ap), fmt being the event's format,
 * so this shim wraps __vfprintf_chk and, for those two formats, appends fields read from the
 * element at that moment:
 *   virtqueue_pop vq 0x.. elem 0x.. in_num 2 out_num 1 head 17 ndescs 1 e_out 1 e_in 2 cap 4097
 *   virtqueue_fill vq 0x.. elem 0x.. len 4097 idx 0 head 17 ndescs 1 e_out 1 e_in 2
 * head = elem->index, ndescs = descriptors the buffer took (packed), e_out/e_in = the element's own
 * out_num/in_num (they must equal the trace's: a check that the layout below is right), cap = the
 * sum of the writable iovec lengths (only at pop, while they are mapped).
 * VirtQueueElement begins: unsigned index, len, ndescs, out_num, in_num; bool in_order_filled;
 * hwaddr *in_addr, *out_addr; struct iovec *in_sg (offset 40), *out_sg (QEMU 9.1 and later).
 * Build: gcc -shared -fPIC -O2 -Wall -o vqhead.so vqhead.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

typedef int (*vfprintf_chk_fn)(FILE *, int, const char *, va_list);
static vfprintf_chk_fn next_vfprintf_chk;

enum { OFF_INDEX = 0, OFF_NDESCS = 8, OFF_OUT_NUM = 12, OFF_IN_NUM = 16, OFF_IN_SG = 40 };

static unsigned field(const void *elem, int off) { return *(const unsigned *)((const char *)elem + off); }

/* Prints the extended line and returns its length, or -1 when fmt is not one of the two events. */
static int with_head(FILE *f, const char *fmt, va_list ap)
{
    int is_pop = strncmp(fmt, "virtqueue_pop ", 14) == 0;
    int is_fill = strncmp(fmt, "virtqueue_fill ", 15) == 0;
    if (!is_pop && !is_fill) return -1;
    char line[512];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(line, sizeof line, fmt, copy);
    va_end(copy);
    if (n <= 0 || n >= (int)sizeof line) return -1;
    if (line[n - 1] == '\n') line[--n] = 0;
    va_copy(copy, ap);
    (void)va_arg(copy, void *);                /* vq */
    const void *elem = va_arg(copy, void *);   /* elem */
    va_end(copy);
    if (!elem) return -1;
    unsigned in_num = field(elem, OFF_IN_NUM);
    if (is_pop) {
        unsigned long long cap = 0;
        const struct iovec *in_sg = *(const struct iovec *const *)((const char *)elem + OFF_IN_SG);
        for (unsigned i = 0; in_sg && i < in_num; i++) cap += in_sg[i].iov_len;
        return fprintf(f, "%s head %u ndescs %u e_out %u e_in %u cap %llu\n", line, field(elem, OFF_INDEX),
                       field(elem, OFF_NDESCS), field(elem, OFF_OUT_NUM), in_num, cap);
    }
    return fprintf(f, "%s head %u ndescs %u e_out %u e_in %u\n", line, field(elem, OFF_INDEX),
                   field(elem, OFF_NDESCS), field(elem, OFF_OUT_NUM), in_num);
}

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
    if (!next_vfprintf_chk) next_vfprintf_chk = (vfprintf_chk_fn)dlsym(RTLD_NEXT, "__vfprintf_chk");
    int r = with_head(f, fmt, ap);
    return r >= 0 ? r : next_vfprintf_chk(f, flag, fmt, ap);
}
