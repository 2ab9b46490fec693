// `crm deal add|move|list`: the sales pipeline. Winning a deal records its sale; losing one needs a
// reason; a won or lost deal moves again only with --reopen (reopening a won deal voids its sale).
import type { Command } from 'commander';
import { STAGES, parseStage } from '../../domain/deals.js';
import { parseInteger } from '../../domain/validation.js';
import type { Column } from '../../io/render.js';
import { examples, type Runtime } from '../runtime.js';
import { moneyFlag, nonEmpty, parseDayFlag } from '../flags.js';

interface AddFlags {
  customer?: string;
  title?: string;
  value?: string;
  stage?: string;
  closeDate?: string;
  probability?: string;
}

interface MoveFlags {
  reason?: string;
  reopen?: boolean;
  probability?: string;
}

const parseProbability = (value: string) => parseInteger(value.replace(/%$/, ''), '--probability', 0, 100);

export const DEAL_COLUMNS: readonly Column[] = [
  { key: 'id', kind: 'int' },
  { key: 'customer_id', header: 'Cust', kind: 'int' },
  { key: 'customer' },
  { key: 'title' },
  { key: 'stage' },
  { key: 'value', kind: 'money' },
  { key: 'probability', header: 'Prob %', kind: 'int' },
  { key: 'weighted', kind: 'money' },
  { key: 'close_date', kind: 'date' },
  { key: 'lost_reason' },
  { key: 'won_sale_id', header: 'Sale', kind: 'int' },
];

export function registerDeal(program: Command, { run }: Runtime): void {
  const deal = program.command('deal').description(`track deals through the pipeline: ${STAGES.join(' → ').replace('won → lost', 'won / lost')}`)
    .addHelpText('after', examples('crm deal add --customer 12 --title "Annual contract" --value 50000 --close-date 2026-12-31', 'crm deal move 3 proposal', 'crm deal list --stage proposal'));

  deal
    .command('add')
    .description('add a deal (in an open stage; lead by default)')
    .option('--customer <customer>', 'customer id, email or unique name (required)')
    .option('--title <title>', 'what the deal is about (required)')
    .option('--value <amount>', 'expected value, e.g. 12,000 (required)')
    .option('--stage <stage>', 'lead, qualified, proposal or negotiation (default lead)')
    .option('--close-date <date>', 'expected close day')
    .option('--probability <percent>', 'win probability 0-100 (default: the stage default, see `crm config get`)')
    .addHelpText('after', examples('crm deal add --customer li.wei@example.com --title "Office tea supply" --value 12000 --close-date 2025-09-30', 'crm deal add --customer 7 --title "Gift boxes" --value 3,500 --stage proposal --probability 60'))
    .action(
      run(async (ctx, flags: AddFlags) => {
        const [customer, title, valueCents] = await ctx.require(
          { flag: '--customer', value: flags.customer, message: 'Customer (id, email or name)', parse: nonEmpty('--customer') },
          { flag: '--title', value: flags.title, message: 'Title', parse: nonEmpty('--title') },
          { flag: '--value', value: flags.value, message: 'Value', parse: moneyFlag('--value') },
        );
        const stage = flags.stage !== undefined ? parseStage(flags.stage, '--stage') : 'lead';
        const probability = flags.probability !== undefined ? parseProbability(flags.probability) : null;
        const closeDate = flags.closeDate !== undefined ? await parseDayFlag(ctx, flags.closeDate, '--close-date') : null;
        const { addDeal, describeDeal } = await import('../../services/deals.js');
        const result = await addDeal(await ctx.db(), { customer, title, valueCents, stage, closeDate, probability }, ctx.meta());
        ctx.note(`added deal ${describeDeal(result.deal)} for ${result.customer} in ${stage}`);
        await ctx.printText(String(result.deal.id));
      }),
    );

  deal
    .command('move')
    .description('move a deal to another stage; won records the sale, lost needs --reason')
    .argument('<id>', 'deal id')
    .argument('<stage>', STAGES.join(', '))
    .option('--reason <text>', 'why (required for lost; kept in the stage history)')
    .option('--reopen', 'move a won or lost deal again (a won deal\'s sale is voided)')
    .option('--probability <percent>', 'own win probability in the new stage (default: the stage default)')
    .addHelpText('after', examples('crm deal move 3 proposal', 'crm deal move 3 won', 'crm deal move 4 lost --reason "went with a cheaper supplier"', 'crm deal move 4 negotiation --reopen --reason "they came back"'))
    .action(
      run(async (ctx, id: string, stageText: string, flags: MoveFlags) => {
        const dealId = parseInteger(id, 'deal id', 1);
        const stage = parseStage(stageText);
        const probability = flags.probability !== undefined ? parseProbability(flags.probability) : undefined;
        let reason = flags.reason?.trim() || null;
        if (stage === 'lost' && reason === null) {
          [reason] = await ctx.require({ flag: '--reason', value: undefined, message: 'Why was it lost?', parse: nonEmpty('--reason') });
        }
        const { moveDeal, describeDeal } = await import('../../services/deals.js');
        const result = await moveDeal(await ctx.db(), { id: dealId, stage, reason, reopen: Boolean(flags.reopen), probability }, ctx.meta());
        if (!result.moved) {
          ctx.note(`deal ${describeDeal(result.deal)} is already ${stage}; nothing changed`);
          return;
        }
        ctx.note(`moved deal ${describeDeal(result.deal)}: ${result.from} → ${stage}`);
        if (result.voidedSaleId !== null) ctx.note(`voided sale #${result.voidedSaleId} that winning it had recorded`);
        if (result.saleId !== null) ctx.note(`recorded sale #${result.saleId}`);
      }),
    );

  deal
    .command('list')
    .description('list deals with their value and probability-weighted value')
    .option('--stage <stage>', `only this stage: ${STAGES.join(', ')}`)
    .option('--customer <customer>', 'only this customer')
    .addHelpText('after', examples('crm deal list', 'crm deal list --stage negotiation --format csv'))
    .action(
      run(async (ctx, flags: { stage?: string; customer?: string }) => {
        const stage = flags.stage !== undefined ? parseStage(flags.stage, '--stage') : undefined;
        const { listDeals } = await import('../../services/deals.js');
        const rows = await listDeals(await ctx.db(), { stage, customer: flags.customer });
        await ctx.print(DEAL_COLUMNS, rows);
      }),
    );
}
