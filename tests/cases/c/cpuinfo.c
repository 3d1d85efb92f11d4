/* /proc/cpuinfo must describe the CPU that CPUID describes: vendor, brand and feature flags. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char text[1 << 20];

static int has_flag(const char *flags, const char *name) {
    size_t length = strlen(name);
    for (const char *at = flags; (at = strstr(at, name)); at += length)
        if (at[-1] == ' ' && (at[length] == ' ' || at[length] == '\n')) return 1;
    return 0;
}

int main(void) {
    FILE *file = fopen("/proc/cpuinfo", "r");
    size_t length = file ? fread(text, 1, sizeof text - 1, file) : 0;
    if (file) fclose(file);
    text[length] = 0;
    const char *flags = strstr(text, "\nflags\t\t: ");
    if (!flags) { printf("no flags line\n"); return 1; }

    unsigned a, b, c, d;
    char vendor[13] = {0}, brand[49] = {0}, expected[80];
    __cpuid(0, a, b, c, d);
    memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4);
    snprintf(expected, sizeof expected, "vendor_id\t: %s\n", vendor);
    printf("vendor_id matches CPUID: %s\n", strstr(text, expected) ? "yes" : "no");
    for (unsigned leaf = 0; leaf < 3; leaf++) {
        unsigned *words = (unsigned *)(brand + 16 * leaf);
        __cpuid(0x80000002 + leaf, words[0], words[1], words[2], words[3]);
    }
    const char *name = brand;
    while (*name == ' ') name++;
    snprintf(expected, sizeof expected, "model name\t: %s\n", name);
    printf("model name matches CPUID: %s\n", strstr(text, expected) ? "yes" : "no");

    unsigned ecx1, edx1, ext_ecx, ext_edx;
    __cpuid(1, a, b, ecx1, edx1);
    __cpuid(0x80000001, a, b, ext_ecx, ext_edx);
    struct { const char *name; unsigned *word; int bit; } features[] = {
        {"fpu", &edx1, 0}, {"tsc", &edx1, 4}, {"cx8", &edx1, 8}, {"cmov", &edx1, 15}, {"mmx", &edx1, 23},
        {"sse", &edx1, 25}, {"sse2", &edx1, 26}, {"pni", &ecx1, 0}, {"pclmulqdq", &ecx1, 1}, {"ssse3", &ecx1, 9},
        {"fma", &ecx1, 12}, {"cx16", &ecx1, 13}, {"sse4_1", &ecx1, 19}, {"sse4_2", &ecx1, 20}, {"movbe", &ecx1, 22},
        {"popcnt", &ecx1, 23}, {"aes", &ecx1, 25}, {"avx", &ecx1, 28}, {"syscall", &ext_edx, 11}, {"nx", &ext_edx, 20},
        {"lm", &ext_edx, 29}, {"lahf_lm", &ext_ecx, 0},
    };
    int agree = 1;
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
        int cpuid = (*features[i].word >> features[i].bit) & 1, listed = has_flag(flags, features[i].name);
        if (cpuid != listed) { printf("flag %s: cpuid %d, cpuinfo %d\n", features[i].name, cpuid, listed); agree = 0; }
    }
    printf("flags agree with CPUID: %s\n", agree ? "yes" : "no");
    int processors = 0;
    for (const char *at = text; (at = strstr(at, "processor\t: ")); at++) processors++;
    printf("one block per online CPU: %s\n", processors == sysconf(_SC_NPROCESSORS_ONLN) ? "yes" : "no");
    return 0;
}
