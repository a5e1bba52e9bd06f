import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitRingLayout, vringNeedEvent } from '../src/index.js';

// An independent check (digest): compile a C program against the system's <linux/virtio_ring.h>
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
