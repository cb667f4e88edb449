import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slotsOf, type GpuBarModel } from './gpubar';
import type { PlanGpu } from '../types';

const sizes = new Map([['P40-3Q', 3072], ['P40-8Q', 8192], ['P40-6Q', 6144], ['L40S-24Q', 24576], ['L40S-8Q', 8192]]);

function model(gpu: Partial<PlanGpu>, extra: Partial<GpuBarModel> = {}): GpuBarModel {
  return {
    host: 'h1',
    gpu: { id: '0000:82:00.0', board: 'P40', mode: 'equal-size', instances: [], framebuffer_mib: 24576, ...gpu },
    typeFramebuffer: sizes,
    ...extra,
  };
}

test('equal-size: one cell per instance, free cells locked to the carved type are stranded', () => {
  const slots = slotsOf(model(
    { carved: 'P40-8Q', max_instances: 3, instances: [{ vm: 'a', type: 'P40-8Q' }] },
    { stranded: { host: 'h1', gpu: '0000:82:00.0', carved: 'P40-8Q', free_instances: 2, stranded_mib: 16384 } },
  ));
  assert.deepEqual(slots.map((s) => s.kind), ['used', 'stranded', 'stranded']);
  assert.equal(slots[0].vm, 'a');
});

test('equal-size: framebuffer no instance can use is drawn after the slots', () => {
  // 24 GB carved for 6Q would leave nothing; pretend the planner reports 2 GB unusable on top.
  const slots = slotsOf(model(
    { carved: 'P40-6Q', max_instances: 4, instances: [{ vm: 'a', type: 'P40-6Q' }, { vm: 'b', type: 'P40-6Q' }, { vm: 'c', type: 'P40-6Q' }] },
    { stranded: { host: 'h1', gpu: '0000:82:00.0', carved: 'P40-6Q', free_instances: 1, stranded_mib: 6144 + 2048 } },
  ));
  assert.deepEqual(slots.map((s) => s.kind), ['used', 'used', 'used', 'stranded', 'unusable']);
  assert.equal(slots[4].weight, 2048 / 6144);
});

test('an uncarved GPU is one free bar; a VM being created is pending', () => {
  assert.deepEqual(slotsOf(model({ mode: 'unconfigured' })).map((s) => s.kind), ['free']);
  const slots = slotsOf(model(
    { carved: 'P40-3Q', max_instances: 8, instances: [{ vm: 'new', type: 'P40-3Q' }] },
    { pending: new Set(['new']) },
  ));
  assert.equal(slots[0].kind, 'pending');
  assert.equal(slots.length, 8);
});

test('mixed-size: segments in proportion to framebuffer, in placement order, then the free rest', () => {
  const slots = slotsOf(model({
    board: 'L40S', mode: 'mixed-size', framebuffer_mib: 49152, framebuffer_used_mib: 32768,
    instances: [{ vm: 'b', type: 'L40S-8Q', placement: 24 }, { vm: 'a', type: 'L40S-24Q', placement: 0 }],
  }));
  assert.deepEqual(slots.map((s) => [s.kind, s.vm, s.weight]), [
    ['used', 'a', 24576], ['used', 'b', 8192], ['free', undefined, 16384],
  ]);
});

test('MIG: the memory slices with each instance at its placement and the gaps between', () => {
  // A100 40 GB: 3g.20gb on slices 0-3, 1g.5gb on slice 6; slices 4-5 and 7 are free.
  const slots = slotsOf(model({
    board: 'A100', mode: 'mig', framebuffer_mib: 40960, slots: 8,
    instances: [{ vm: 'b', type: 'A100-1-5C', placement: 6, span: 1 }, { vm: 'a', type: 'A100-3-20C', placement: 0, span: 4 }],
  }));
  assert.deepEqual(slots.map((s) => [s.kind, s.vm, s.weight]), [
    ['used', 'a', 4], ['free', undefined, 2], ['used', 'b', 1], ['free', undefined, 1],
  ]);
  assert.match(slots[1].detail, /slices 4-5 free/);
  assert.equal(slots[1].label, 'free · 10 GB');
});

test('mixed-size: slots with alignment gaps and reserved slots at the end', () => {
  const slots = slotsOf(model({
    board: 'L40S', mode: 'mixed-size', framebuffer_mib: 49152, slots: 46, reserved_slots: 2,
    instances: [{ vm: 'a', type: 'L40S-8Q', placement: 32, span: 8 }, { vm: 'b', type: 'L40S-24Q', placement: 0, span: 24 }],
  }));
  assert.deepEqual(slots.map((s) => [s.kind, s.vm, s.weight]), [
    ['used', 'b', 24], ['free', undefined, 8], ['used', 'a', 8], ['free', undefined, 6], ['unusable', undefined, 2],
  ]);
});

test('without the planner the capacity is unknown, the VMs still show', () => {
  const slots = slotsOf(model({ carved: 'P40-8Q', instances: [{ vm: 'a', type: 'P40-8Q' }] }, { capacityKnown: false }));
  assert.deepEqual(slots.map((s) => s.kind), ['used', 'unknown']);
});
