#!/usr/bin/env bash
# Give one person the board: create the Cognito user (Cognito e-mails a temporary password;
# they pick a password and set up TOTP at first sign-in) and add them to the viewers group.
#
#   AWS_REGION=us-east-1 scripts/add-user.sh alice@example.org
#
# The pool and group come from the fleetboard-auth stack's outputs, in the fleet's region
# (AWS_REGION, else the CLI's default). Remove someone: README, "Deploy to AWS".
set -euo pipefail
email="${1:?usage: scripts/add-user.sh EMAIL}"
output() {
  aws cloudformation describe-stacks --stack-name fleetboard-auth \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
pool="$(output UserPoolId)"
group="$(output Group)"
aws cognito-idp admin-create-user --user-pool-id "$pool" --username "$email" \
  --user-attributes Name=email,Value="$email" Name=email_verified,Value=true \
  --desired-delivery-mediums EMAIL >/dev/null
aws cognito-idp admin-add-user-to-group --user-pool-id "$pool" --username "$email" \
  --group-name "$group"
echo "added $email to $group in $pool; Cognito has e-mailed a temporary password"
