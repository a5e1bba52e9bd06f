#ifndef VQLAB_K_STDIO_H
#define VQLAB_K_STDIO_H
#include <stdarg.h>
/* pr_err / dev_err / printk print to stderr or stdout: one line to the run's log through the glue. */
typedef struct vqlab_file FILE;
extern FILE *stderr;
int fprintf(FILE *f, const char *fmt, ...);
int vfprintf(FILE *f, const char *fmt, va_list ap);
/* vringh_bad's printk / vprintk (tools/virtio's linux/printk.h). */
int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
#endif
