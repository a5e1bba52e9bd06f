// A driver module that wraps vqlab's own driver (imported from the package, as your code would:
// `import { createBuiltinDriver } from 'vqlab'`) and counts its rounds: the smallest use of
// `vqlab run --driver`. Replace the wrapped driver with your own ring code to test it against
// vqlab's device, checker and fault model.
//
//   vqlab run --driver examples/counting-driver.mjs
import { createBuiltinDriver } from '../dist/src/index.js';

export function createDriver(ctx) {
  const d = createBuiltinDriver(ctx);
  let rounds = 0;
  const step = d.step.bind(d);
  d.step = () => { rounds++; return step(); };
  const state = d.state.bind(d);
  d.state = () => ({ ...state(), rounds });
  return d;
}
