import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitRingLayout, vringNeedEvent } from '../src/index.js';

// An independent check of the layout: compile a C program against the system's <linux/virtio_ring.h>
// and compare its vring_init offsets and vring_need_event with vqlab's.
const header = '/usr/include/linux/virtio_ring.h';
const cc = spawnSync('sh', ['-c', 'command -v cc || command -v gcc'], { encoding: 'utf8' }).stdout.trim();
const available = existsSync(header) && cc !== '';

describe.skipIf(!available)('split layout and vring_need_event against Linux <linux/virtio_ring.h>', () => {
  it('vring_init(num, p, 4) offsets and vring_need_event agree for every queue size and 20000 index triples', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-vring-'));
    writeFileSync(join(dir, 'v.c'), `
#include <stdio.h>
#include <stdint.h>
#include <linux/virtio_ring.h>
int main(void) {
  static char mem[1 << 20];
  for (unsigned n = 1; n <= 32768; n <<= 1) {
    struct vring vr; vring_init(&vr, n, mem, 4);
    printf("L %u %ld %ld %ld %ld %ld %lu\\n", n, (long)((char*)vr.desc - mem), (long)((char*)vr.avail - mem),
      (long)((char*)vr.used - mem), (long)((char*)&vring_used_event(&vr) - mem), (long)((char*)&vring_avail_event(&vr) - mem),
      (unsigned long)vring_size(n, 4));
  }
  uint32_t x = 12345;
  for (int i = 0; i < 20000; i++) {
    x = x * 1103515245u + 12345u; uint16_t e = x >> 8;
    x = x * 1103515245u + 12345u; uint16_t o = x >> 8;
    x = x * 1103515245u + 12345u; uint16_t n = o + ((x >> 8) % 600);
    printf("E %u %u %u %d\\n", e, n, o, vring_need_event(e, n, o));
  }
  return 0;
}`);
    execFileSync(cc, ['-O1', '-o', join(dir, 'v'), join(dir, 'v.c')]);
    const lines = execFileSync(join(dir, 'v'), { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n');
    let layouts = 0, events = 0;
    for (const line of lines) {
      const [k, ...v] = line.split(' ');
      const a = v.map(Number);
      if (k === 'L') {
        const l = splitRingLayout(a[0]);
        expect([l.desc.offset, l.avail.offset, l.used.offset, l.usedEvent.offset, l.availEvent.offset]).toEqual(a.slice(1, 6));
        // vring_size pads the used ring's start to `align` and counts the avail_event field.
        expect(l.used.offset + l.used.size).toBe(a[6]);
        layouts++;
      } else {
        expect(vringNeedEvent(a[0], a[1], a[2])).toBe(a[3] === 1);
        events++;
      }
    }
    expect(layouts).toBe(16);
    expect(events).toBe(20000);
  });
});

describe.skipIf(!available)('packed structs and flags against Linux <linux/virtio_ring.h>', () => {
  it('vring_packed_desc / vring_packed_desc_event offsets, AVAIL/USED bits, event flags, wrap bit', async () => {
    const c = await import('../src/spec/constants.js');
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-vring-packed-'));
    writeFileSync(join(dir, 'p.c'), `
#include <stdio.h>
#include <stddef.h>
#include <linux/virtio_ring.h>
int main(void) {
  printf("%zu %zu %zu %zu %zu\\n", sizeof(struct vring_packed_desc), offsetof(struct vring_packed_desc, addr),
    offsetof(struct vring_packed_desc, len), offsetof(struct vring_packed_desc, id), offsetof(struct vring_packed_desc, flags));
  printf("%zu %zu %zu\\n", sizeof(struct vring_packed_desc_event), offsetof(struct vring_packed_desc_event, off_wrap), offsetof(struct vring_packed_desc_event, flags));
  printf("%d %d %d %d %d %d\\n", 1 << VRING_PACKED_DESC_F_AVAIL, 1 << VRING_PACKED_DESC_F_USED, VRING_PACKED_EVENT_FLAG_ENABLE,
    VRING_PACKED_EVENT_FLAG_DISABLE, VRING_PACKED_EVENT_FLAG_DESC, VRING_PACKED_EVENT_F_WRAP_CTR);
  printf("%d %d %d\\n", VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT);
  return 0;
}`);
    execFileSync(cc, ['-o', join(dir, 'p'), join(dir, 'p.c')]);
    const [desc, ev, bits, df] = execFileSync(join(dir, 'p'), { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ').map(Number));
    expect(desc).toEqual([c.PACKED_DESC_SIZE, c.PACKED_DESC_ADDR, c.PACKED_DESC_LEN, c.PACKED_DESC_ID, c.PACKED_DESC_FLAGS]);
    expect(ev).toEqual([c.EVENT_SUPPRESS_SIZE, c.EVENT_SUPPRESS_OFF_WRAP, c.EVENT_SUPPRESS_FLAGS]);
    expect(bits).toEqual([c.VIRTQ_DESC_F_AVAIL, c.VIRTQ_DESC_F_USED, c.RING_EVENT_FLAGS_ENABLE, c.RING_EVENT_FLAGS_DISABLE, c.RING_EVENT_FLAGS_DESC, 15]);
    expect(df).toEqual([c.VIRTQ_DESC_F_NEXT, c.VIRTQ_DESC_F_WRITE, c.VIRTQ_DESC_F_INDIRECT]);
  });
});
