/** A storage server's usage snapshot as sent to its grid manager (ReportUsage). */
export interface AccountUsageLine {
  account: Uint8Array;
  bytesStored: number;
  shares: number;
}

export interface UsageReportInput {
  reportId: string;
  atMs: number;
  accounts: AccountUsageLine[];
}
