// Licenses: seats per edition (used / total), pools, every lease by expiry, and the guests that
// run unlicensed (no seat, or a lease that ended: 3 fps and no CUDA until they get one).
import type { PageProps } from '../app';
import { api } from '../api';
import { Empty, Loadable, Meter, Notice, PageHeader, Section, StateBadge } from '../components/ui';
import { listVms } from '../fleetdata';
import { dateTime, duration } from '../format';
import { usePoll } from '../hooks';
import type { Licenses, LicenseSeat, Vm } from '../types';

export function LicensesPage(_: PageProps) {
  const data = usePoll(
    async (signal) => {
      const [ledger, vms] = await Promise.all([api.get<Licenses>('/licenses', { signal }), listVms(signal)]);
      return { ledger, vms };
    },
    5000,
    [],
    { on: ['license', 'vm.'] },
  );
  return (
    <>
      <PageHeader title="Licenses" subtitle="NVIDIA vGPU software seats and guest leases" />
      <Loadable data={data.data} error={data.error} what="the license ledger">
        {({ ledger, vms }) => <LicenseView ledger={ledger} vms={vms} />}
      </Loadable>
    </>
  );
}

function bySoonest(a: LicenseSeat, b: LicenseSeat): number {
  const x = a.expires_in_seconds ?? Number.POSITIVE_INFINITY;
  const y = b.expires_in_seconds ?? Number.POSITIVE_INFINITY;
  return x - y || a.vm.localeCompare(b.vm);
}

function LicenseView(props: { ledger: Licenses; vms: Vm[] }) {
  const { ledger } = props;
  const seats = [...(ledger.seats ?? [])].sort(bySoonest);
  const seatOf = new Map(seats.map((s) => [s.vm, s]));
  // A guest with a vGPU and no seat, or whose lease ended, runs unlicensed.
  const unlicensed = props.vms
    .filter((vm) => (vm.vgpus ?? []).length > 0)
    .filter((vm) => {
      const seat = seatOf.get(vm.name);
      return !seat || seat.lease === 'expired';
    });
  const expiring = seats.filter((s) => s.lease === 'expiring');
  return (
    <>
      {unlicensed.length > 0 && (
        <div class="alert alert-error" role="alert" data-testid="unlicensed">
          <strong>{unlicensed.length} unlicensed {unlicensed.length === 1 ? 'guest' : 'guests'}</strong> (capped at 3 fps, CUDA disabled):{' '}
          {unlicensed.map((vm) => vm.name).join(', ')}
        </div>
      )}
      {expiring.length > 0 && (
        <Notice kind="warn">
          <span data-testid="expiring">{expiring.length} {expiring.length === 1 ? 'lease expires' : 'leases expire'} within the hour</span>:{' '}
          {expiring.map((s) => `${s.vm} (${duration(s.expires_in_seconds)})`).join(', ')}
        </Notice>
      )}
      <div class="tiles" role="list" aria-label="Seats per edition">
        {(ledger.editions ?? []).length === 0 && <Empty>No license pools. Create one with gpufleet licenses pool set.</Empty>}
        {(ledger.editions ?? []).map((e) => (
          <div class="tile" role="listitem" key={e.edition}>
            <span class="tile-label">{e.edition}</span>
            <span class="tile-value">{e.used} <span class="muted small">/ {e.seats}</span></span>
            <Meter value={e.used} max={e.seats} label={`${e.edition} seats used`} />
            <span class="tile-detail muted">{e.free} free</span>
          </div>
        ))}
      </div>
      <Section title="Leases, soonest expiry first" id="leases">
        {seats.length === 0 && unlicensed.length === 0 ? <Empty>No guest holds a seat.</Empty> : (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">VM</th><th scope="col">Edition</th><th scope="col">Pool</th>
                  <th scope="col">Lease</th><th scope="col">Expires in</th><th scope="col">Expires at</th><th scope="col">Leased at</th>
                </tr>
              </thead>
              <tbody>
                {unlicensed.filter((vm) => !seatOf.has(vm.name)).map((vm) => (
                  <tr key={vm.name} class="row-bad" data-vm={vm.name}>
                    <th scope="row">{vm.name}</th>
                    <td>{vm.license || vm.spec?.license || '–'}</td>
                    <td>–</td>
                    <td><StateBadge state="unlicensed" label="no seat" /></td>
                    <td>–</td><td>–</td><td>–</td>
                  </tr>
                ))}
                {seats.map((s) => (
                  <tr key={`${s.pool}/${s.vm}`} data-vm={s.vm} data-lease={s.lease}
                    class={s.lease === 'expired' ? 'row-bad' : s.lease === 'expiring' ? 'row-warn' : undefined}>
                    <th scope="row">{s.vm}</th>
                    <td>{s.edition}</td>
                    <td>{s.pool}</td>
                    <td><StateBadge state={s.lease} /></td>
                    <td>{s.expires_in_seconds === null || s.expires_in_seconds === undefined ? '–' : duration(s.expires_in_seconds)}</td>
                    <td>{dateTime(s.expires_at)}</td>
                    <td>{dateTime(s.leased_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="Pools" id="pools">
        {(ledger.pools ?? []).length === 0 ? <Empty>No pools.</Empty> : (
          <div class="table-wrap">
            <table class="table">
              <thead><tr><th scope="col">Pool</th><th scope="col">Edition</th><th scope="col" class="num">Used</th><th scope="col" class="num">Seats</th><th scope="col">Use</th></tr></thead>
              <tbody>
                {ledger.pools.map((p) => (
                  <tr key={p.name}>
                    <th scope="row">{p.name}</th><td>{p.edition}</td><td class="num">{p.used}</td><td class="num">{p.seats}</td>
                    <td class="meter-cell"><Meter value={p.used} max={p.seats} label={`pool ${p.name} seats used`} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
