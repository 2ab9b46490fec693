// Interactive prompts, loaded lazily: @inquirer/prompts is only imported when a person at a
// terminal has to be asked something. Prompts draw on stderr so stdout stays pure data.

export interface Prompter {
  input(message: string, options?: { default?: string; validate?: (value: string) => true | string }): Promise<string>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  /** A secret: typed characters are not echoed (shown as nothing at all). */
  password(message: string): Promise<string>;
  select<T extends string>(message: string, choices: readonly T[]): Promise<T>;
}

export function createPrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompter {
  const context = { input, output, clearPromptOnDone: false };
  const load = () => import('@inquirer/prompts');
  return {
    async input(message, options = {}) {
      const { input: ask } = await load();
      return ask({ message, default: options.default, validate: options.validate }, context);
    },
    async confirm(message, defaultValue = false) {
      const { confirm } = await load();
      return confirm({ message, default: defaultValue }, context);
    },
    async password(message) {
      const { password } = await load();
      return password({ message }, context);
    },
    async select(message, choices) {
      const { select } = await load();
      return select({ message, choices: choices.map((value) => ({ value, name: value })) }, context);
    },
  };
}
