import { validateOrReject, type ValidatorOptions } from 'class-validator';
import { ArgumentValidationError } from 'type-graphql';

/** class-validator's options for every argument: what the schema used to pass as `validate`. */
const OPTIONS: ValidatorOptions = {
  skipMissingProperties: true,
  forbidUnknownValues: false,
  validationError: { target: false, value: false },
};

const validated = (value: unknown): value is object => value !== null && typeof value === 'object';

/**
 * The schema's `validateFn`: each input or args object (and each object of a list) is checked
 * by class-validator's decorators, and a failure is type-graphql's ArgumentValidationError, as with
 * its built-in `validate`. That one `require`s class-validator on every call (3-4% of a request's
 * CPU, issue 17); this one imports it once.
 */
export async function validateArgument(argValue: unknown): Promise<void> {
  try {
    if (Array.isArray(argValue)) await Promise.all(argValue.filter(validated).map((item) => validateOrReject(item, OPTIONS)));
    else if (validated(argValue)) await validateOrReject(argValue, OPTIONS);
  } catch (errors) {
    throw new ArgumentValidationError(errors as ConstructorParameters<typeof ArgumentValidationError>[0]);
  }
}
