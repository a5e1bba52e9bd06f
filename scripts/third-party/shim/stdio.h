#ifndef VQLAB_SHIM_STDIO_H
#define VQLAB_SHIM_STDIO_H
void perror(const char *s);
#endif
