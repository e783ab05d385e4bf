// Who may invoke the admin Lambda (read by serverless.yml through
// `${file(./admin-invokers.config.js):permissions}`, at package/deploy time): one
// AWS::Lambda::Permission (a statement of the function's resource policy) per principal listed
// in ADMIN_INVOKER_ARNS, comma-separated: IAM role or user ARNs
// (arn:aws:iam::123456789012:role/support-tools) or whole accounts (123456789012 or
// arn:aws:iam::123456789012:root). Nothing listed: no resource-policy grant at all.
//
// Principals of the stack's own account are also let in by their identity policies
// (lambda:InvokeFunction on this function's ARN); Lambda resource policies can only grant, so
// keep that action out of other roles' policies (docs/operations.md "Admin Lambda").
const ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)\/[\w+=,.@\/-]+$|^arn:aws(-[a-z]+)*:iam::\d{12}:root$|^\d{12}$/;

module.exports.permissions = () => {
  const arns = (process.env.ADMIN_INVOKER_ARNS ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn !== '');
  const resources = {};
  arns.forEach((arn, index) => {
    if (!ARN.test(arn)) throw new Error(`ADMIN_INVOKER_ARNS must list IAM role/user ARNs or account ids, got "${arn}".`);
    resources[`AdminInvokePermission${index + 1}`] = {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        // The framework's logical id of the `admin` function.
        FunctionName: { 'Fn::GetAtt': ['AdminLambdaFunction', 'Arn'] },
        Principal: arn,
      },
    };
  });
  return resources;
};
