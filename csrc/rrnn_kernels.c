/*
 * rrnn_kernels.c -- the three SIMD instances of rrnn_kernels_internal.h and
 * the run-time choice among them.
 *
 * No -march flag is used: each instance carries its own target attribute, so
 * the library runs on any x86-64 and uses AVX2 or AVX-512 where the caller
 * (after rrnn_simd_detect) asks for it.
 */
#include "rrnn_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RRNN_X86 1
#else
#define RRNN_X86 0
#endif

/* Level 0: portable C. */
#define RK_LEVEL 0
#define RK_TGT
#define RK_SUFFIX _portable
#include "rrnn_kernels_internal.h"
#undef RK_LEVEL
#undef RK_TGT
#undef RK_SUFFIX

#if RRNN_X86
/* Level 1: AVX2 + POPCNT. */
#define RK_LEVEL 1
#define RK_TGT __attribute__((target("avx2,popcnt")))
#define RK_SUFFIX _avx2
#include "rrnn_kernels_internal.h"
#undef RK_LEVEL
#undef RK_TGT
#undef RK_SUFFIX

/* Level 2: AVX-512 F/BW/VL + VPOPCNTDQ. */
#define RK_LEVEL 2
#define RK_TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq,popcnt")))
#define RK_SUFFIX _avx512
#include "rrnn_kernels_internal.h"
#undef RK_LEVEL
#undef RK_TGT
#undef RK_SUFFIX
#endif

const rrnn_kernels *rrnn_kernels_for(int simd)
{
#if RRNN_X86
    if (simd >= RRNN_SIMD_AVX512)
        return &rk_table_avx512;
    if (simd == RRNN_SIMD_AVX2)
        return &rk_table_avx2;
#else
    (void)simd;
#endif
    return &rk_table_portable;
}

int rrnn_simd_detect(void)
{
#if RRNN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq") &&
        __builtin_cpu_supports("popcnt"))
        return RRNN_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
        return RRNN_SIMD_AVX2;
#endif
    return RRNN_SIMD_PORTABLE;
}
