// A tiny network guest for tests (not part of the product): a multiboot kernel for QEMU's
// microvm that drives the virtio-net device (virtio-mmio, legacy or modern) by polling, takes
// its address from the kernel arguments as Unikraft does (netdev.ipv4_addr=...), answers ARP
// and ICMP echo, and answers every UDP datagram to its port (the first application argument
// after "--", default 8080) with "unikernel <its address> <sender>:<port>\n".
// Built by the tests with: gcc -m32 -ffreestanding -nostdlib -static -O1 -fno-toplevel-reorder
// -fno-reorder-functions -fno-pic -Wl,-Ttext=0x100000.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

// Multiboot v1 header (no flags: QEMU loads the ELF), a stack, then kmain(multiboot info).
__asm__(
    ".text\n"
    ".align 4\n"
    ".long 0x1BADB002\n"
    ".long 0\n"
    ".long -0x1BADB002\n"
    ".globl _start\n"
    "_start:\n"
    "  mov $kstack + 16384, %esp\n"
    "  push %ebx\n"
    "  call kmain\n"
    "1: hlt\n"
    "  jmp 1b\n");

u8 kstack[16384] __attribute__((aligned(16)));

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

static void putch(char c) { outb(0x3f8, (u8)c); }
static void puts_(const char* s) {
  while (*s) putch(*s++);
}
static char* fmtdec(char* out, u32 v) {
  char tmp[12];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *out++ = tmp[--n];
  return out;
}
static char* fmtip(char* out, const u8* ip) {
  for (int i = 0; i < 4; ++i) {
    out = fmtdec(out, ip[i]);
    if (i < 3) *out++ = '.';
  }
  return out;
}
static void putdec(u32 v) {
  char b[12];
  *fmtdec(b, v) = 0;
  puts_(b);
}

static void copy(u8* d, const u8* s, u32 n) {
  while (n--) *d++ = *s++;
}
static int same(const u8* a, const u8* b, u32 n) {
  while (n--)
    if (*a++ != *b++) return 0;
  return 1;
}
static u16 rd16(const u8* p) { return (u16)(p[0] << 8 | p[1]); }
static void wr16(u8* p, u32 v) {
  p[0] = (u8)(v >> 8);
  p[1] = (u8)v;
}
static u32 sum16(const u8* p, u32 n, u32 acc) {
  for (; n > 1; n -= 2, p += 2) acc += rd16(p);
  if (n) acc += (u32)p[0] << 8;
  return acc;
}
static u16 fold(u32 acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (u16)~acc;
}

// ---- kernel arguments ----
static u8 my_ip[4];
static u32 my_port = 8080;

static const char* find(const char* s, const char* key) {
  for (; *s; ++s) {
    const char *a = s, *k = key;
    while (*k && *a == *k) ++a, ++k;
    if (!*k) return a;
  }
  return 0;
}
static int parse_ip(const char* s, u8* ip) {
  for (int i = 0; i < 4; ++i) {
    u32 v = 0;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (u32)(*s++ - '0');
    if (v > 255 || (i < 3 && *s++ != '.')) return 0;
    ip[i] = (u8)v;
  }
  return 1;
}

// ---- virtio-mmio ----
#define MMIO_BASE 0xfeb00000u
#define MMIO_SLOTS 32
#define QN 8
static volatile u32* dev;
#define REG(off) dev[(off) / 4]

struct desc {
  u64 addr;
  u32 len;
  u16 flags;
  u16 next;
};
struct queue {
  struct desc* desc;
  volatile u16* avail;  // flags, idx, ring[QN]
  volatile u8* used;    // flags, idx, {id, len}[QN]
  u16 next_avail;
  u16 last_used;
};
static u8 queue_mem[2][8192] __attribute__((aligned(4096)));
static struct queue rxq, txq;
static u8 rxbuf[QN][2048];
static u8 txbuf[2048];
static u32 hdr_len;
static u8 my_mac[6];

static int setup_queue(u32 index, struct queue* q, u32 version) {
  u8* mem = queue_mem[index];
  q->desc = (struct desc*)mem;
  q->avail = (volatile u16*)(mem + 16 * QN);
  q->used = mem + 4096;
  REG(0x030) = index;
  if (REG(0x034) < QN) return 0;
  REG(0x038) = QN;
  if (version == 1) {
    REG(0x03c) = 4096;
    REG(0x040) = (u32)mem >> 12;
  } else {
    REG(0x080) = (u32)q->desc;
    REG(0x084) = 0;
    REG(0x090) = (u32)q->avail;
    REG(0x094) = 0;
    REG(0x0a0) = (u32)q->used;
    REG(0x0a4) = 0;
    REG(0x044) = 1;
  }
  return 1;
}

static void offer(struct queue* q, u32 qindex, u16 id) {
  q->avail[2 + q->next_avail % QN] = id;
  barrier();
  q->avail[1] = ++q->next_avail;
  barrier();
  REG(0x050) = qindex;
}

static int init_device(void) {
  for (u32 i = 0; i < MMIO_SLOTS && !dev; ++i) {
    volatile u32* r = (volatile u32*)(MMIO_BASE + i * 0x200);
    if (r[0] == 0x74726976 && r[2] == 1) dev = r;  // "virt", network card
  }
  if (!dev) return 0;
  u32 version = REG(0x004);
  REG(0x070) = 0;
  REG(0x070) = 1 | 2;  // acknowledge, driver
  if (version == 1) {
    REG(0x028) = 4096;
    REG(0x024) = 0;
    REG(0x020) = 0;
  } else {
    REG(0x024) = 1;
    REG(0x020) = 1;  // VIRTIO_F_VERSION_1
    REG(0x024) = 0;
    REG(0x020) = 0;
    REG(0x070) = 1 | 2 | 8;  // features ok
    if (!(REG(0x070) & 8)) return 0;
  }
  if (!setup_queue(0, &rxq, version) || !setup_queue(1, &txq, version)) return 0;
  for (u32 i = 0; i < 6; ++i) my_mac[i] = ((volatile u8*)dev)[0x100 + i];
  hdr_len = version == 1 ? 10 : 12;
  REG(0x070) = version == 1 ? (1 | 2 | 4) : (1 | 2 | 8 | 4);  // driver ok
  for (u16 i = 0; i < QN; ++i) {
    rxq.desc[i].addr = (u32)rxbuf[i];
    rxq.desc[i].len = sizeof rxbuf[i];
    rxq.desc[i].flags = 2;  // device writes
    offer(&rxq, 0, i);
  }
  return 1;
}

static void send_frame(u32 len) {
  // txbuf holds the virtio-net header (zeros) and the frame.
  txq.desc[0].addr = (u32)txbuf;
  txq.desc[0].len = hdr_len + len;
  txq.desc[0].flags = 0;
  offer(&txq, 1, 0);
  for (u32 spin = 0; spin < 100000000; ++spin) {
    if (*(volatile u16*)(txq.used + 2) != txq.last_used) break;
    __asm__ volatile("pause");
  }
  txq.last_used = *(volatile u16*)(txq.used + 2);
}

// ---- protocols ----
static void reply_ip(u8* f, u32 ip_len) {
  // Ethernet and IP addresses swapped, IP checksum again; the payload is already in place.
  u8 tmp[6];
  copy(tmp, f, 6);
  copy(f, f + 6, 6);
  copy(f + 6, my_mac, 6);
  (void)tmp;
  u8* ip = f + 14;
  copy(ip + 16, ip + 12, 4);
  copy(ip + 12, my_ip, 4);
  wr16(ip + 2, ip_len);
  ip[8] = 64;
  wr16(ip + 10, 0);
  wr16(ip + 10, fold(sum16(ip, (u32)(ip[0] & 15) * 4, 0)));
  send_frame(14 + ip_len);
}

static void handle(const u8* in, u32 len) {
  u8* f = txbuf + hdr_len;
  for (u32 i = 0; i < hdr_len; ++i) txbuf[i] = 0;
  if (len < 42 || len > sizeof txbuf - hdr_len) return;
  u16 type = rd16(in + 12);
  if (type == 0x0806 && rd16(in + 20) == 1 && same(in + 38, my_ip, 4)) {
    copy(f, in + 6, 6);
    copy(f + 6, my_mac, 6);
    wr16(f + 12, 0x0806);
    copy(f + 14, in + 14, 6);  // htype, ptype, sizes
    wr16(f + 20, 2);
    copy(f + 22, my_mac, 6);
    copy(f + 28, my_ip, 4);
    copy(f + 32, in + 22, 10);  // the asker's MAC and address
    send_frame(42);
    return;
  }
  if (type != 0x0800 || !same(in + 30, my_ip, 4)) return;
  u32 ihl = (u32)(in[14] & 15) * 4;
  u32 ip_len = rd16(in + 16);
  if (ip_len + 14 > len || ihl < 20) return;
  const u8* l4 = in + 14 + ihl;
  if (in[23] == 1 && l4[0] == 8) {  // ICMP echo request
    copy(f, in, 14 + ip_len);
    u8* icmp = f + 14 + ihl;
    icmp[0] = 0;
    wr16(icmp + 2, 0);
    wr16(icmp + 2, fold(sum16(icmp, ip_len - ihl, 0)));
    reply_ip(f, ip_len);
    return;
  }
  if (in[23] != 17 || rd16(l4 + 2) != my_port) return;
  copy(f, in, 14 + ihl);
  u8* udp = f + 14 + ihl;
  char* text = (char*)udp + 8;
  char* end = text;
  const char* head = "unikernel ";
  while (*head) *end++ = *head++;
  end = fmtip(end, my_ip);
  *end++ = ' ';
  end = fmtip(end, in + 26);
  *end++ = ':';
  end = fmtdec(end, rd16(l4));
  *end++ = '\n';
  u32 udp_len = 8 + (u32)(end - text);
  wr16(udp, rd16(l4 + 2));
  wr16(udp + 2, rd16(l4));
  wr16(udp + 4, udp_len);
  wr16(udp + 6, 0);
  // Checksum with the pseudo header: the reply's source is this guest, its destination the asker.
  u32 acc = sum16(my_ip, 4, 0);
  acc = sum16(in + 26, 4, acc);
  acc += 17 + udp_len;
  u16 c = fold(sum16(udp, udp_len, acc));
  wr16(udp + 6, c ? c : 0xffff);
  reply_ip(f, ihl + udp_len);
}

struct multiboot_info {
  u32 flags, mem_lower, mem_upper, boot_device, cmdline;
};

void kmain(const struct multiboot_info* mb) {
  const char* cmdline = (mb->flags & 4) ? (const char*)mb->cmdline : "";
  const char* a = find(cmdline, "netdev.ipv4_addr=");
  if (!a || !parse_ip(a, my_ip)) {
    puts_("udp-echo: no netdev.ipv4_addr= in the kernel arguments\n");
    return;
  }
  const char* args = find(cmdline, "-- ");
  if (args) {
    u32 p = 0;
    while (*args >= '0' && *args <= '9') p = p * 10 + (u32)(*args++ - '0');
    if (p > 0 && p < 65536) my_port = p;
  }
  if (!init_device()) {
    puts_("udp-echo: no usable virtio-net device\n");
    return;
  }
  char line[64];
  char* e = fmtip(line, my_ip);
  *e = 0;
  puts_("udp-echo: listening on ");
  puts_(line);
  puts_(":");
  putdec(my_port);
  puts_("\n");
  for (;;) {
    u16 used = *(volatile u16*)(rxq.used + 2);
    while (rxq.last_used != used) {
      u32 slot = rxq.last_used % QN;
      u32 id = *(volatile u32*)(rxq.used + 4 + 8 * slot);
      u32 len = *(volatile u32*)(rxq.used + 8 + 8 * slot);
      if (id < QN && len > hdr_len) handle(rxbuf[id] + hdr_len, len - hdr_len);
      ++rxq.last_used;
      if (id < QN) offer(&rxq, 0, (u16)id);
    }
    __asm__ volatile("pause");
  }
}
