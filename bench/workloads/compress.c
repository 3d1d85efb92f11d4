// bench: title=CPU: LZ77 compression loop
// bench: kind=cpu
// bench: args=48
// bench: quick-args=2
// Compresses N MiB of generated text with a small hash-chain LZ77 coder and checks the round trip.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HashBits = 15, Window = 1 << 16, MinMatch = 4, MaxMatch = 255, MaxChain = 16 };

static uint32_t hash4(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return (v * 2654435761u) >> (32 - HashBits); }

// Output: a literal run is 0, length, bytes; a match is length (>= MinMatch), 16-bit distance.
static size_t compress(const uint8_t *in, size_t n, uint8_t *out, int32_t *head, int32_t *chain)
{
    size_t o = 0, i = 0, literal_start = 0;
    for (int h = 0; h < (1 << HashBits); h++) head[h] = -1;
    while (i + MinMatch <= n) {
        uint32_t h = hash4(in + i);
        int32_t candidate = head[h];
        size_t best = 0, best_distance = 0;
        for (int steps = 0; candidate >= 0 && i - (size_t)candidate < Window && steps < MaxChain; steps++) {
            size_t len = 0;
            while (len < MaxMatch && i + len < n && in[candidate + len] == in[i + len]) len++;
            if (len > best) { best = len; best_distance = i - (size_t)candidate; }
            candidate = chain[candidate % Window];
        }
        chain[i % Window] = head[h];
        head[h] = (int32_t)i;
        if (best >= MinMatch) {
            while (literal_start < i) {
                size_t run = i - literal_start > 255 ? 255 : i - literal_start;
                out[o++] = 0; out[o++] = (uint8_t)run;
                memcpy(out + o, in + literal_start, run); o += run; literal_start += run;
            }
            out[o++] = (uint8_t)best; out[o++] = (uint8_t)best_distance; out[o++] = (uint8_t)(best_distance >> 8);
            for (size_t k = 1; k < best && i + k + MinMatch <= n; k++) {
                uint32_t hk = hash4(in + i + k);
                chain[(i + k) % Window] = head[hk];
                head[hk] = (int32_t)(i + k);
            }
            i += best; literal_start = i;
        } else {
            i++;
        }
    }
    while (literal_start < n) {
        size_t run = n - literal_start > 255 ? 255 : n - literal_start;
        out[o++] = 0; out[o++] = (uint8_t)run;
        memcpy(out + o, in + literal_start, run); o += run; literal_start += run;
    }
    return o;
}

static size_t decompress(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t tag = in[i++];
        if (tag == 0) { size_t run = in[i++]; memcpy(out + o, in + i, run); i += run; o += run; }
        else { size_t distance = in[i] | (size_t)in[i + 1] << 8; i += 2; for (size_t k = 0; k < tag; k++, o++) out[o] = out[o - distance]; }
    }
    return o;
}

int main(int argc, char **argv)
{
    static const char *words[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "trapeze ", "kernel ", "syscall ", "\n"};
    size_t n = (size_t)(argc > 1 ? atol(argv[1]) : 48) << 20;
    uint8_t *text = malloc(n + 16), *packed = malloc(n * 2 + 1024), *back = malloc(n + 16);
    int32_t *head = malloc(sizeof(int32_t) << HashBits), *chain = malloc(sizeof(int32_t) * Window);
    uint32_t seed = 7;
    for (size_t i = 0; i < n;) {
        seed = seed * 1103515245 + 12345;
        const char *w = words[(seed >> 16) % 12];
        for (size_t k = 0; w[k] && i < n; k++) text[i++] = (uint8_t)w[k];
    }
    size_t packed_size = compress(text, n, packed, head, chain);
    size_t back_size = decompress(packed, packed_size, back);
    int ok = back_size == n && memcmp(text, back, n) == 0;
    printf("%zu -> %zu bytes, round trip %s\n", n, packed_size, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
