// Lists: ?page=&pageSize= (≤100) → {rows, total, page, pageSize, totalPages} (API.md).

export const pageParams = {
	page: { type: "number", integer: true, positive: true, convert: true, optional: true, default: 1 },
	pageSize: { type: "number", integer: true, positive: true, max: 100, convert: true, optional: true, default: 20 },
} as const;

export interface Page<T> {
	rows: T[];
	total: number;
	page: number;
	pageSize: number;
	totalPages: number;
}

export function pageOf<T>(rows: T[], total: number, page: number, pageSize: number): Page<T> {
	return { rows, total, page, pageSize, totalPages: Math.ceil(total / pageSize) };
}

export function skipOf(page: number, pageSize: number): number {
	return (page - 1) * pageSize;
}
