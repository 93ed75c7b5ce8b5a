import { ArrayMaxSize, ArrayMinSize, IsOptional, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';
import { PageArgs } from '../cluster-api/page-args';
import { ReadFrom } from '../cluster-api/read-from.input';
import { CreateEmployeeInput, UpdateEmployeeInput } from './employee.inputs';

export { PAGE } from '../cluster-api/page-args';
/** Most employees one `createEmployees` may create. */
export const BATCH_MAX = 10_000;

@ArgsType()
export class EmployeeIdArgs {
  @Field(() => Int)
  @Min(1, { message: 'id must be at least 1' })
  id!: number;
}

@ArgsType()
export class EmployeeArgs extends EmployeeIdArgs {
  @Field(() => ReadFrom, { nullable: true })
  @IsOptional()
  @ValidateNested()
  readFrom?: ReadFrom;
}

@ArgsType()
export class EmployeesArgs extends PageArgs {}

@ArgsType()
export class CreateEmployeeArgs {
  @Field(() => CreateEmployeeInput)
  @ValidateNested()
  input!: CreateEmployeeInput;
}

@ArgsType()
export class CreateEmployeesArgs {
  @Field(() => [CreateEmployeeInput])
  @ArrayMinSize(1, { message: 'inputs must hold at least one employee' })
  @ArrayMaxSize(BATCH_MAX, { message: `inputs may hold at most ${BATCH_MAX} employees` })
  @ValidateNested({ each: true })
  inputs!: CreateEmployeeInput[];
}

@ArgsType()
export class UpdateEmployeeArgs extends EmployeeIdArgs {
  @Field(() => UpdateEmployeeInput)
  @ValidateNested()
  input!: UpdateEmployeeInput;
}

@ArgsType()
export class TransferSalaryArgs {
  @Field(() => Int)
  @Min(1, { message: 'fromId must be at least 1' })
  fromId!: number;

  @Field(() => Int)
  @Min(1, { message: 'toId must be at least 1' })
  toId!: number;

  @Field(() => Int)
  @Min(1, { message: 'amount must be positive' })
  amount!: number;
}
