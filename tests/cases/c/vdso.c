/* Finds the vDSO through AT_SYSINFO_EHDR, looks up its functions the way a libc does
   (DT_HASH, dynsym, LINUX_2.6 version), calls each one and checks it against the system call. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uintptr_t bias;
static const Elf64_Sym *symbols;
static const char *strings;
static const Elf64_Word *hash;
static const Elf64_Half *versions;
static const Elf64_Verdef *definitions;

static const char *version_of(unsigned index) {
    if (!versions || !definitions) return "(unversioned)";
    unsigned wanted = versions[index] & 0x7fff;
    for (const Elf64_Verdef *d = definitions;; d = (const void *)((const char *)d + d->vd_next)) {
        if (d->vd_ndx == wanted) return strings + ((const Elf64_Verdaux *)((const char *)d + d->vd_aux))->vda_name;
        if (!d->vd_next) return "(no such version)";
    }
}

static void *lookup(const char *name) {
    for (unsigned i = 1; i < hash[1]; i++) {
        const Elf64_Sym *s = &symbols[i];
        if (strcmp(strings + s->st_name, name) == 0 && s->st_shndx != SHN_UNDEF) {
            printf("%s: %s %s %s\n", name, version_of(i),
                   ELF64_ST_TYPE(s->st_info) == STT_FUNC ? "FUNC" : "other",
                   ELF64_ST_BIND(s->st_info) == STB_GLOBAL ? "GLOBAL" : ELF64_ST_BIND(s->st_info) == STB_WEAK ? "WEAK" : "LOCAL");
            return (void *)(bias + s->st_value);
        }
    }
    printf("%s: missing\n", name);
    return NULL;
}

static long long nanoseconds(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

int main(void) {
    const Elf64_Ehdr *header = (const void *)getauxval(AT_SYSINFO_EHDR);
    if (!header) { printf("no vDSO\n"); return 1; }
    printf("ELF type %d machine %d\n", header->e_type, header->e_machine);
    const Elf64_Phdr *ph = (const void *)((const char *)header + header->e_phoff);
    const Elf64_Dyn *dynamic = NULL;
    for (int i = 0; i < header->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) bias = (uintptr_t)header + ph[i].p_offset - ph[i].p_vaddr;
        if (ph[i].p_type == PT_DYNAMIC) dynamic = (const void *)((const char *)header + ph[i].p_offset);
    }
    for (const Elf64_Dyn *d = dynamic; d && d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symbols = (const void *)(bias + d->d_un.d_ptr); break;
        case DT_STRTAB: strings = (const void *)(bias + d->d_un.d_ptr); break;
        case DT_HASH: hash = (const void *)(bias + d->d_un.d_ptr); break;
        case DT_VERSYM: versions = (const void *)(bias + d->d_un.d_ptr); break;
        case DT_VERDEF: definitions = (const void *)(bias + d->d_un.d_ptr); break;
        }
    }
    if (!symbols || !strings || !hash) { printf("incomplete dynamic section\n"); return 1; }

    int (*vdso_clock_gettime)(clockid_t, struct timespec *) = lookup("__vdso_clock_gettime");
    int (*vdso_gettimeofday)(struct timeval *, void *) = lookup("__vdso_gettimeofday");
    time_t (*vdso_time)(time_t *) = lookup("__vdso_time");
    long (*vdso_getcpu)(unsigned *, unsigned *, void *) = lookup("__vdso_getcpu");
    int (*vdso_clock_getres)(clockid_t, struct timespec *) = lookup("__vdso_clock_getres");
    if (!vdso_clock_gettime || !vdso_gettimeofday || !vdso_time || !vdso_getcpu || !vdso_clock_getres) return 1;

    struct timespec a, b, c;
    vdso_clock_gettime(CLOCK_MONOTONIC, &a);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_MONOTONIC, &c);
    printf("monotonic: vdso <= syscall <= libc: %s\n",
           nanoseconds(&a) <= nanoseconds(&b) && nanoseconds(&b) <= nanoseconds(&c) ? "yes" : "no");
    vdso_clock_gettime(CLOCK_REALTIME, &a);
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &b);
    printf("realtime agrees: %s\n", nanoseconds(&b) - nanoseconds(&a) < 2000000000LL ? "yes" : "no");
    printf("invalid clock: %d\n", vdso_clock_gettime(12345, &a));

    /* Each call is made before its result is printed: argument evaluation order is unspecified. */
    struct timeval tv;
    int status = vdso_gettimeofday(&tv, NULL);
    printf("gettimeofday: %d, agrees: %s\n", status, tv.tv_sec - b.tv_sec < 2 ? "yes" : "no");
    time_t stored = 0, returned = vdso_time(&stored);
    printf("time: returned == stored: %s, agrees: %s\n", returned == stored ? "yes" : "no", returned - b.tv_sec < 2 ? "yes" : "no");
    unsigned cpu = 99, node = 99;
    long cpu_status = vdso_getcpu(&cpu, &node, NULL);
    printf("getcpu: %ld, cpu in range: %s, node: %u\n", cpu_status, cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF) ? "yes" : "no", node);
    struct timespec resolution = {99, 99};
    status = vdso_clock_getres(CLOCK_MONOTONIC, &resolution);
    printf("clock_getres: %d, fine: %s\n", status,
           resolution.tv_sec == 0 && resolution.tv_nsec > 0 && resolution.tv_nsec <= 1000000 ? "yes" : "no");
    return 0;
}
