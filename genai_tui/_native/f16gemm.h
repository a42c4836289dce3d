/* Shared between f16gemm.c (the float16-weight products) and gptdecode.c (the
   fused decode pass that calls them). */
#ifndef GENAI_TUI_F16GEMM_H
#define GENAI_TUI_F16GEMM_H

#include <stdint.h>

int f16_simd(void);
int f16_panel_cols(void);

/* Panels c0 <= c < c1 of y = b + x @ W (W packed by f16_pack: K x 64 per
   panel); panel c lands at y + (c - c0) * 64, rows ldy floats apart. x is
   M x K, contiguous. b may be NULL. Single-threaded; uses the vector path
   chosen by f16_use / f16_simd. */
void f16_panels(const float *restrict x, const uint16_t *restrict P, const float *restrict b,
                float *restrict y, int ldy, int M, int K, int c0, int c1);

#endif
