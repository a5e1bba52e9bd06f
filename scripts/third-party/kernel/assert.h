#ifndef VQLAB_K_ASSERT_H
#define VQLAB_K_ASSERT_H
#define assert(x) ((x) ? (void)0 : __builtin_trap())
#endif
