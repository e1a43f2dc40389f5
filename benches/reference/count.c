/* The hand-written C reference of the performance issue: mmap a classic pcap,
 * walk its records, parse Ethernet/IPv4/TCP/UDP and fill 6 histograms
 * (all/syn/udp/icmp by destination low 16 bits, destination port, length),
 * on one thread or up to 64 (the file split at record boundaries; each part's
 * thread starts as soon as its end is found).
 * With -DNINE_MAPS it also fills scanwall's other three (destination port,
 * and port low byte x address low byte, of all TCP/UDP and of SYN-only), so
 * it does as much counting as `scanwall count` with its nine maps.
 * With -DPREFETCH it asks for the bytes 1 KiB ahead of each record, as
 * scanwall's record walk does (src/prefetch.rs); without, it is the issue's
 * reference as first written.
 * Build: cc -O2 -pthread -o count-ref count.c
 * Run:   ./count-ref FILE [THREADS]    prints packets and seconds. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_THREADS 64

struct job { const uint8_t *p, *end; uint64_t packets; uint32_t *h; };

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void *walk(void *arg) {
    struct job *j = arg;
    uint32_t *all = j->h, *syn = all + 65536, *udp = syn + 65536, *icmp = udp + 65536,
             *port = icmp + 65536, *len = port + 65536;
#ifdef NINE_MAPS
    uint32_t *synport = len + 65536, *addrport = synport + 65536, *synaddrport = addrport + 65536;
#define PORT_MAPS(l4, dst) (port[be16(l4 + 2)]++, addrport[(l4)[3] << 8 | ((dst) & 255)]++)
#define SYN_MAPS(l4, dst) (syn[dst]++, synport[be16(l4 + 2)]++, synaddrport[(l4)[3] << 8 | ((dst) & 255)]++)
#else
#define PORT_MAPS(l4, dst) (port[be16(l4 + 2)]++)
#define SYN_MAPS(l4, dst) (syn[dst]++)
#endif
    const uint8_t *p = j->p;
    while (p + 16 <= j->end) {
#ifdef PREFETCH
        __builtin_prefetch(p + 1024);
#endif
        uint32_t incl; memcpy(&incl, p + 8, 4);
        const uint8_t *f = p + 16;
        p = f + incl;
        if (p > j->end) break;
        j->packets++;
        if (incl < 34 || be16(f + 12) != 0x0800 || (f[14] >> 4) != 4) continue;
        const uint8_t *ip = f + 14;
        unsigned ihl = (ip[0] & 15) * 4;
        if (ihl < 20 || incl < 14 + ihl) continue;
        uint16_t dst = be16(ip + 18);
        all[dst]++;
        len[be16(ip + 2)]++;
        const uint8_t *l4 = ip + ihl;
        unsigned rest = incl - 14 - ihl;
        int first = (be16(ip + 6) & 0x1fff) == 0;
        switch (ip[9]) {
        case 1: icmp[dst]++; break;
        case 17: udp[dst]++; if (first && rest >= 8) PORT_MAPS(l4, dst); break;
        case 6:
            if (first && rest >= 20) {
                PORT_MAPS(l4, dst);
                if ((l4[13] & 0x3f) == 0x02) SYN_MAPS(l4, dst);
            }
            break;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: count-ref FILE [THREADS]\n"); return 2; }
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > MAX_THREADS) threads = 1;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) { perror(argv[1]); return 1; }
    const uint8_t *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const uint8_t *end = m + st.st_size, *at = m + 24;
    struct job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    for (int i = 0; i < threads; i++) { /* part i ends at the record boundary nearest (i+1)/threads */
        const uint8_t *start = at, *goal = m + st.st_size / threads * (i + 1);
        if (i == threads - 1) at = end; /* the last part needs no walk to find its end */
        while (at < goal && at + 16 <= end) { uint32_t incl; memcpy(&incl, at + 8, 4); at += 16 + incl; }
        jobs[i] = (struct job){ start, at, 0, calloc(9 * 65536, 4) };
        if (i > 0) pthread_create(&tids[i], NULL, walk, &jobs[i]);
    }
    walk(&jobs[0]);
    uint64_t packets = jobs[0].packets;
    for (int i = 1; i < threads; i++) { pthread_join(tids[i], NULL); packets += jobs[i].packets; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu packets %.3f s %.1f Mpps\n", (unsigned long long)packets, s, packets / s / 1e6);
    return 0;
}
