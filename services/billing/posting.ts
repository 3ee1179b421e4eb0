// Posting one money movement (`billing.post`, admin funding and charges, the trial bonus): the
// checks every entry passes before the ledger takes it, the charge order it is taken in (BIL-3)
// and the 422 a refused bonus unfund answers. The ledger protocol itself is ledger-store.ts.
import { insufficientBalance as insufficientBalanceError, validationError } from "../../lib/errors";
import { formatExact } from "../../lib/money";
import type { EntryDoc, Ledger, NewEntry } from "./ledger-store";

export interface PostingParams {
	ledger: Pick<Ledger, "post">;
	/** BIL-3: the account's charge order now (`account.charge.balance.first` = 1) */
	mainFirstOf(accountId: string): Promise<boolean>;
}

/** Posts and applies an entry (idempotent by its key); a refused one → 422 INSUFFICIENT_BALANCE. */
export async function postEntry({ ledger, mainFirstOf }: PostingParams, input: NewEntry): Promise<EntryDoc> {
	if (input.kind === "charge" && input.amount > 0) throw validationError({ field: "amount", message: "a charge is a negative amount (it takes money)" });
	let mainFirst = input.mainFirst;
	// BIL-3: the charge order is the account's when the entry is posted, kept on the entry.
	if (mainFirst === undefined && input.amount < 0 && !input.toBonus && (input.kind === "charge" || input.kind === "correction")) {
		mainFirst = await mainFirstOf(input.accountId);
	}
	const { entry } = await ledger.post({ ...input, mainFirst });
	if (entry.state === "refused") throw insufficientBalance(entry);
	return entry;
}

function insufficientBalance(entry: EntryDoc) {
	const available = formatExact(entry.balanceAfter.bonus);
	return insufficientBalanceError(`amount: would take the bonus balance below zero (it holds ${available})`, {
		field: "amount",
		balance: entry.refusal || "bonus",
		available,
		requested: formatExact(entry.requested),
	});
}
