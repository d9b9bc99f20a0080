import type { AndonBoard } from './board.ts';

/** The figures each tile of the board shows beside its level. */
export interface BoardFigures {
  readonly jidoka: { readonly circuits: Readonly<Record<string, string>> };
  readonly kanban: {
    readonly depth: number;
    readonly capacity: number;
    readonly dlq: number;
    readonly in_flight: number;
    readonly backend: string;
    readonly active_path: string;
  };
  readonly andon: { readonly error_rate_1m: number };
  readonly kaizen: {
    readonly throughput_1m: number;
    readonly p99_1m_ms: number;
    readonly slo_attainment_1m: number | null;
    readonly processed: number;
  };
  readonly heijunka: {
    readonly balance_coefficient: number;
    readonly pool_utilization: number;
    readonly workers: {
      readonly id: string;
      readonly in_use: number;
      readonly cards: number;
      readonly processed: number;
      readonly state: string;
    }[];
  };
  readonly tracing: { readonly exporting: boolean; readonly detail: string };
}

/** What GET /andon answers and the stream sends: the board, its figures, when. */
export interface BoardView extends AndonBoard {
  readonly at: string;
  readonly figures: BoardFigures;
}
