// Every workflow the worker runs; the worker bundles this file (deterministic code only).
export { podcastWorkflow, synthesizeLinesWorkflow } from './podcast';
export { audioWorkflow } from './audio';
export { reconcileBillingWorkflow, stripeEventWorkflow } from './billing';
export { backupDatabaseWorkflow, housekeepingWorkflow, quotaResetWorkflow } from './operations';
export { reconcileJobsWorkflow } from './jobs';
export { webhookDeliveryWorkflow } from './webhooks';
export { voicePreviewWorkflow } from './voicePreview';
