/** One measured figure. `reference` is the side-by-side baseline run in the same process run. */
export interface BenchRow {
  bench: string;
  metric: string;
  ours: number;
  unit: string;
  reference?: number;
  referenceName?: string;
  /** ours / reference, or reference / ours when `higherIsBetter`; computed by the runner when both are present. */
  ratio?: number;
  higherIsBetter?: boolean;
  goal?: string;
  note?: string;
}

export interface BenchContext {
  /** A scratch directory for this benchmark (removed afterwards). */
  tmpDir: string;
  /** `--quick` shortens every benchmark (used by the smoke test of the harness). */
  quick: boolean;
  log(msg: string): void;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
