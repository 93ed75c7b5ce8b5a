import { IsOptional, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';
import { ReadFrom } from '../cluster-api/read-from.input';
import { PageArgs } from '../cluster-api/page-args';
import { CreateDepartmentInput, CreateDepartmentWithEmployeesInput, UpdateDepartmentInput } from './department.inputs';

@ArgsType()
export class DepartmentIdArgs {
  @Field(() => Int)
  @Min(1, { message: 'id must be at least 1' })
  id!: number;
}

@ArgsType()
export class DepartmentArgs extends DepartmentIdArgs {
  @Field(() => ReadFrom, { nullable: true })
  @IsOptional()
  @ValidateNested()
  readFrom?: ReadFrom;
}

@ArgsType()
export class DepartmentsArgs extends PageArgs {}

@ArgsType()
export class CreateDepartmentArgs {
  @Field(() => CreateDepartmentInput)
  @ValidateNested()
  input!: CreateDepartmentInput;
}

@ArgsType()
export class UpdateDepartmentArgs extends DepartmentIdArgs {
  @Field(() => UpdateDepartmentInput)
  @ValidateNested()
  input!: UpdateDepartmentInput;
}

@ArgsType()
export class CreateDepartmentWithEmployeesArgs {
  @Field(() => CreateDepartmentWithEmployeesInput)
  @ValidateNested()
  input!: CreateDepartmentWithEmployeesInput;
}
