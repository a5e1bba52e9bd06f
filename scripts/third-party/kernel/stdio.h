#ifndef VQLAB_K_STDIO_H
#define VQLAB_K_STDIO_H
/* pr_err / dev_err print to stderr: one line to the run's log through the glue. */
typedef struct vqlab_file FILE;
extern FILE *stderr;
int fprintf(FILE *f, const char *fmt, ...);
#endif
