// Thin piscina task entry: one campaign run (a runThreaded: a driver and a device worker) per task.
export { runCampaignTask as default } from '../src/stress/task.js';
