import 'reflect-metadata';
import { ArgumentValidationError } from 'type-graphql';
import { CreateEmployeeInput } from '../../src/employee/employee.inputs';
import { validateArgument } from '../../src/validation/validate-argument';

const input = (values: Partial<CreateEmployeeInput>) => Object.assign(new CreateEmployeeInput(), values);

async function failure(value: unknown): Promise<ArgumentValidationError> {
  const error: unknown = await validateArgument(value).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ArgumentValidationError)) throw new Error(`expected an ArgumentValidationError, got ${String(error)}`);
  return error;
}

const messages = (error: ArgumentValidationError) => error.extensions.validationErrors.flatMap((e) => Object.values(e.constraints ?? {}));

describe("validateArgument: the schema's class-validator check of every argument", () => {
  it('passes a valid input, scalars and null alike', async () => {
    await expect(validateArgument(input({ id: 1, name: 'Ann', salary: 0 }))).resolves.toBeUndefined();
    await expect(validateArgument(5)).resolves.toBeUndefined();
    await expect(validateArgument(null)).resolves.toBeUndefined();
    await expect(validateArgument(undefined)).resolves.toBeUndefined();
  });

  it("refuses a bad input with each rule's message, and without echoing the value back", async () => {
    const error = await failure(input({ id: 0, name: '', salary: -1 }));
    expect(messages(error)).toEqual(
      expect.arrayContaining(['id must be at least 1', 'name must not be empty', 'salary must not be negative']),
    );
    const [first] = error.extensions.validationErrors;
    expect(first).not.toHaveProperty('target');
    expect(first).not.toHaveProperty('value');
  });

  it('checks every object of a list (createEmployees)', async () => {
    const error = await failure([input({ id: 1, name: 'Ann', salary: 0 }), input({ id: 2, name: 'Bo', salary: -5 })]);
    expect(messages(error)).toEqual(['salary must not be negative']);
  });

  it('leaves properties a partial input does not give to their own rules (skipMissingProperties)', async () => {
    await expect(validateArgument(input({ id: 3 }))).resolves.toBeUndefined();
  });
});
