// Every workflow the worker runs; the worker bundles this file (deterministic code only).
export {};
